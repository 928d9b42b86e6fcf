#!/bin/sh
# Undoes install.sh: takes our line out of extensions.load (the admin's other
# lines stay) and removes the extension and the legacy-ports command
# (legacy-ports and legacy-ports-query).
exec sh "$(dirname "$0")/install.sh" --uninstall
