package registry

// defaultAdminPath sits next to osquery's own files on macOS.
const defaultAdminPath = "/var/osquery/legacy_ports.yml"
