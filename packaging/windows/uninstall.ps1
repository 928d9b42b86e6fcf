#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
Undoes install.ps1: takes our line out of extensions.load (the admin's other
lines stay) and removes the extension and the legacy-ports command
(legacy-ports.exe and legacy-ports-query.exe).
#>
[CmdletBinding()]
param(
    [string]$OsqueryHome = (Join-Path $env:ProgramFiles 'osquery')
)

& (Join-Path $PSScriptRoot 'install.ps1') -OsqueryHome $OsqueryHome -Uninstall
