package registry

// defaultAdminPath sits next to osquery's own configuration on Linux.
const defaultAdminPath = "/etc/osquery/legacy_ports.yml"
