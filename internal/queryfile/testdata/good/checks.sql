-- how many ghosts
SELECT count(*) AS ghosts FROM legacy_ports WHERE verdict = 'ghost';

/* the extension; a comment; with semicolons */
SELECT version FROM legacy_ports_info;
