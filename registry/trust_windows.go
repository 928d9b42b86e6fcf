package registry

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// DefaultAdminPath sits next to osquery's own files on Windows.
var DefaultAdminPath = `C:\Program Files\osquery\legacy_ports.yml`

// writeRights are the rights that let a holder change a file or its ACL.
const writeRights = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | windows.GENERIC_WRITE |
	windows.GENERIC_ALL | windows.WRITE_DAC | windows.WRITE_OWNER | windows.DELETE

func checkFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", f.Name())
	}
	return checkACL(f.Name())
}

func checkDir(dir string) error { return checkACL(dir) }

// checkACL: owned by Administrators, SYSTEM or us, and no write right
// granted to Everyone, Users or Authenticated Users, as osquery asks of its
// own extensions directory.
func checkACL(name string) error {
	sd, err := windows.GetNamedSecurityInfo(name, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the ACL of %s: %w", name, err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("reading the owner of %s: %w", name, err)
	}
	if !owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) && !owner.IsWellKnown(windows.WinLocalSystemSid) && !isCurrentUser(owner) {
		return fmt.Errorf("%s is owned by %s; it must be owned by Administrators or SYSTEM", name, owner.String())
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("reading the DACL of %s: %w", name, err)
	}
	if dacl == nil {
		return fmt.Errorf("%s has no DACL, which grants everyone full access", name)
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return fmt.Errorf("reading the ACL of %s: %w", name, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Mask&writeRights == 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		for _, broad := range []windows.WELL_KNOWN_SID_TYPE{windows.WinWorldSid, windows.WinBuiltinUsersSid, windows.WinAuthenticatedUserSid} {
			if sid.IsWellKnown(broad) {
				return fmt.Errorf("%s lets %s write it; remove that right (icacls)", name, sid.String())
			}
		}
	}
	return nil
}

func isCurrentUser(sid *windows.SID) bool {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	return err == nil && windows.EqualSid(u.User.Sid, sid)
}
