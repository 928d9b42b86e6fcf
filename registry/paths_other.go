//go:build !linux && !darwin && !windows

package registry

// defaultAdminPath on the BSDs follows osquery's Linux layout.
const defaultAdminPath = "/etc/osquery/legacy_ports.yml"
