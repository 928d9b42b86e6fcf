#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
Installs legacy-ports from this unpacked release zip, where osqueryd autoloads it.

.DESCRIPTION
Copies legacy_ports.ext.exe to <OsqueryHome>\extensions\ and gives that
directory and the file the permissions osquery checks before it starts an
extension: owner Administrators, inheritance disabled, full control for SYSTEM
and Administrators only, read and execute for Users (the ACL osquery's own
package sets). Adds the extension's path to <OsqueryHome>\extensions.load once,
keeping the admin's other lines. Copies legacy-ports.exe, and beside it
legacy-ports-query.exe (which runs its query command), to
%ProgramFiles%\legacy-ports\. With -Uninstall, undoes exactly that.

A Go extension must end in .exe on Windows: osquery runs a file ending in .ext
as a Python script and stops if no interpreter is configured.

osqueryd reads extensions.load when it starts: restart it afterwards
(Restart-Service osqueryd).

.PARAMETER OsqueryHome
osquery's directory; the default is where osquery's installer puts it.

.PARAMETER Uninstall
Remove the extension, its line in extensions.load and the command.
#>
[CmdletBinding()]
param(
    [string]$OsqueryHome = (Join-Path $env:ProgramFiles 'osquery'),
    [switch]$Uninstall
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$extDir = Join-Path $OsqueryHome 'extensions'
$extPath = Join-Path $extDir 'legacy_ports.ext.exe'
$loadPath = Join-Path $OsqueryHome 'extensions.load'
$cliDir = Join-Path $env:ProgramFiles 'legacy-ports'
$cliPath = Join-Path $cliDir 'legacy-ports.exe'
$queryPath = Join-Path $cliDir 'legacy-ports-query.exe'

# Well-known SIDs rather than names, which Windows translates ("Administratoren").
$system = '*S-1-5-18'
$admins = '*S-1-5-32-544'
$users = '*S-1-5-32-545'

function Invoke-Icacls {
    & icacls.exe @args | Out-Null
    if ($LASTEXITCODE -ne 0) {
        throw "icacls $($args -join ' ') failed with exit code $LASTEXITCODE"
    }
}

# osquery refuses an extension when the file or its directory carries a
# write permission for anyone but SYSTEM and Administrators, inherited ones
# included (C:\Program Files grants TrustedInstaller and CREATOR OWNER).
# /reset drops explicit entries someone added; /inheritance:r the inherited.
function Set-SafeAcl([string]$Path, [string]$Inherit) {
    Invoke-Icacls $Path /reset
    Invoke-Icacls $Path /inheritance:r /grant:r "${system}:${Inherit}F" "${admins}:${Inherit}F" "${users}:${Inherit}RX"
    Invoke-Icacls $Path /setowner $admins
}

# Adds or removes one line of extensions.load. osquery trims each line, so a
# line of ours with stray blanks is still ours; Windows paths ignore case.
# The admin's other lines, and their line endings, stay as they were.
function Edit-ExtensionsLoad([string]$Path, [string]$Line, [switch]$Remove) {
    $text = ''
    if (Test-Path -LiteralPath $Path) {
        $text = [System.IO.File]::ReadAllText($Path)
    }
    $newline = "`n"
    if ($text.Contains("`r`n")) {
        $newline = "`r`n"
    }
    $lines = New-Object System.Collections.Generic.List[string]
    if ($text.Length -gt 0) {
        $lines.AddRange([string[]]($text -split "`r?`n"))
        if ($lines[$lines.Count - 1] -eq '') {
            $lines.RemoveAt($lines.Count - 1)
        }
    }
    $ours = @($lines | Where-Object { $_.Trim() -ieq $Line })
    if ($Remove) {
        if ($ours.Count -eq 0) {
            return
        }
        $kept = @($lines | Where-Object { $_.Trim() -ine $Line })
    } else {
        if ($ours.Count -gt 0) {
            return
        }
        $kept = @($lines) + $Line
    }
    $out = ''
    if ($kept.Count -gt 0) {
        $out = ($kept -join $newline) + $newline
    }
    # UTF-8 without a byte order mark: osquery would read a BOM as part of
    # the first path.
    [System.IO.File]::WriteAllText($Path, $out, (New-Object System.Text.UTF8Encoding $false))
}

# Copies Source over Target even while the old Target runs: Windows lets a
# running executable be renamed, not overwritten. The old copy is deleted
# now if it has stopped, else on the next install or uninstall.
function Copy-Binary([string]$Source, [string]$Target) {
    $old = "$Target.old"
    Remove-Item -LiteralPath $old -Force -ErrorAction SilentlyContinue
    if (Test-Path -LiteralPath $Target) {
        Move-Item -LiteralPath $Target -Destination $old -Force
    }
    Copy-Item -LiteralPath $Source -Destination $Target
    Remove-Item -LiteralPath $old -Force -ErrorAction SilentlyContinue
}

if ($Uninstall) {
    Edit-ExtensionsLoad -Path $loadPath -Line $extPath -Remove
    foreach ($f in @($extPath, "$extPath.old", $cliPath, "$cliPath.old", $queryPath, "$queryPath.old")) {
        if (Test-Path -LiteralPath $f) {
            Remove-Item -LiteralPath $f -Force
        }
    }
    if ((Test-Path -LiteralPath $cliDir) -and -not (Get-ChildItem -LiteralPath $cliDir -Force)) {
        Remove-Item -LiteralPath $cliDir -Force
    }
    Write-Host "legacy-ports: removed $extPath, $cliPath, $queryPath and its line in $loadPath"
    Write-Host 'legacy-ports: a running extension stops when osqueryd restarts: Restart-Service osqueryd'
    return
}

if (-not (Test-Path -LiteralPath $OsqueryHome)) {
    throw "$OsqueryHome does not exist: install osquery first, or name its directory with -OsqueryHome"
}
New-Item -ItemType Directory -Force -Path $extDir, $cliDir | Out-Null
Set-SafeAcl $extDir '(OI)(CI)'
Copy-Binary (Join-Path $PSScriptRoot 'legacy_ports.ext.exe') $extPath
Set-SafeAcl $extPath ''
Copy-Binary (Join-Path $PSScriptRoot 'legacy-ports-query.exe') $queryPath
Copy-Binary (Join-Path $PSScriptRoot 'legacy-ports.exe') $cliPath
Edit-ExtensionsLoad -Path $loadPath -Line $extPath
Write-Host "legacy-ports: installed $extPath, $cliPath and $queryPath; listed in $loadPath"
Write-Host "legacy-ports: osqueryd reads $loadPath when it starts: Restart-Service osqueryd"
