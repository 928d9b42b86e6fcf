package setup

import "os"

// changeTime: Windows has no ctime; an ACL change alone is not noticed
// until the file is written (see the README).
func changeTime(os.FileInfo) int64 { return 0 }
