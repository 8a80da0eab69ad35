#!/usr/bin/env bash
# Installs the real programs the tests run, at the versions in scripts/test-tools.versions:
# Prometheus, promtool, Alertmanager and docker-compose (Debian packages), PowerShell 7 as a .NET
# tool in .tools/pwsh, and for the Windows release and its smoke tests Wine, msitools and wixl,
# osslsigncode, zip and unzip, and Chromium for the landing page's screenshot (Debian packages).
# Idempotent: a tool already there at its version is left alone.
#
# Under CI=true a step that fails ends the script at once, with one line naming the tool and why, so
# that CI never goes on to fail later with a confusing test error. Elsewhere it says the same and goes
# on; the tests that need the tool then report themselves skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/test-tools.versions
. scripts/test-tools.versions

say() { echo "install-test-tools: $*"; }
problem() {
  if [ "${CI:-}" = true ]; then
    echo "install-test-tools: FAILED: $*" >&2
    exit 1
  fi
  echo "install-test-tools: $* (the tests that need it will report themselves skipped)" >&2
}

# The first x.y.z in a program's version output, or nothing.
version_of() { "$@" 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true; }

# Installs Debian packages as root, quietly. Where it cannot (not root, or no apt-get) or apt-get fails,
# says so through `problem` (which ends the script under CI=true) with apt's first error line, and
# returns 1. The first argument names the packages in that line.
apt_install() {
  local label=$1
  shift
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    problem "$label: not installed at the pinned versions, and this is not root on Debian; run as root: apt-get install -y --no-install-recommends $*"
    return 1
  fi
  say "installing $* (Debian packages)"
  local log
  log=$(mktemp)
  if ! { timeout 600 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
    problem "$label: apt-get failed: $(grep -E '^(E|W):' "$log" | head -n 1 | cut -c1-200)"
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

debian_versions_ok() {
  command -v promtool >/dev/null && command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null &&
    command -v docker-compose >/dev/null &&
    [ "$(version_of promtool --version)" = "$PROMETHEUS_VERSION" ] &&
    [ "$(version_of prometheus --version)" = "$PROMETHEUS_VERSION" ] &&
    [ "$(version_of prometheus-alertmanager --version)" = "$ALERTMANAGER_VERSION" ] &&
    [ "$(version_of docker-compose version --short)" = "$DOCKER_COMPOSE_VERSION" ]
}

install_debian_packages() {
  if debian_versions_ok; then
    say "prometheus $PROMETHEUS_VERSION, alertmanager $ALERTMANAGER_VERSION and docker-compose $DOCKER_COMPOSE_VERSION are installed"
    return
  fi
  apt_install prometheus/alertmanager/docker-compose prometheus prometheus-alertmanager docker-compose || return 0
  # The packages start services on Debian; the tests start their own instances on free ports.
  (systemctl stop prometheus prometheus-alertmanager 2>/dev/null || service prometheus stop 2>/dev/null || true) >/dev/null 2>&1
  local tool got want
  for tool in promtool prometheus prometheus-alertmanager docker-compose; do
    case "$tool" in
      prometheus-alertmanager) want=$ALERTMANAGER_VERSION; got=$(version_of "$tool" --version) ;;
      docker-compose) want=$DOCKER_COMPOSE_VERSION; got=$(version_of "$tool" version --short) ;;
      *) want=$PROMETHEUS_VERSION; got=$(version_of "$tool" --version) ;;
    esac
    if [ "$got" != "$want" ]; then
      problem "$tool: Debian installed version ${got:-unknown}, the tests are pinned to $want (scripts/test-tools.versions)"
      return
    fi
  done
  say "installed prometheus $PROMETHEUS_VERSION, alertmanager $ALERTMANAGER_VERSION, docker-compose $DOCKER_COMPOSE_VERSION"
}

pwsh_tool_version() {
  # `dotnet tool list` names the package and its version without starting PowerShell.
  [ -x .tools/pwsh/pwsh ] || return 0
  dotnet tool list --tool-path .tools/pwsh 2>/dev/null | awk 'tolower($1) == "powershell" { print $2 }'
}

install_pwsh() {
  if ! command -v dotnet >/dev/null; then
    problem "pwsh: no dotnet SDK to install PowerShell $PWSH_VERSION with"
    return
  fi
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
  local installed
  installed=$(pwsh_tool_version)
  if [ "$installed" = "$PWSH_VERSION" ]; then
    say "PowerShell $PWSH_VERSION is installed in .tools/pwsh"
    return
  fi
  # Another version in .tools/pwsh (an older checkout's): replaced, never used by the tests.
  if [ -n "$installed" ]; then
    say "replacing PowerShell $installed in .tools/pwsh with $PWSH_VERSION"
    dotnet tool uninstall --tool-path .tools/pwsh PowerShell >/dev/null 2>&1 || rm -rf .tools/pwsh
  fi
  say "installing PowerShell $PWSH_VERSION as a .NET tool into .tools/pwsh"
  local log
  log=$(mktemp)
  if ! timeout 600 dotnet tool install --tool-path .tools/pwsh PowerShell --version "$PWSH_VERSION" >"$log" 2>&1; then
    problem "pwsh: dotnet tool install PowerShell --version $PWSH_VERSION failed: $(grep -vE '^\s*$' "$log" | tail -n 1 | cut -c1-200)"
    rm -f "$log"
    return
  fi
  rm -f "$log"
  installed=$(pwsh_tool_version)
  if [ "$installed" != "$PWSH_VERSION" ]; then
    problem "pwsh: .tools/pwsh holds PowerShell ${installed:-nothing} after the install, not $PWSH_VERSION"
    return
  fi
  say "installed PowerShell $PWSH_VERSION in .tools/pwsh"
}

# The upstream version of an installed Debian package ("8.0~repack-4" -> 8.0), or nothing.
debian_upstream_version() {
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null | sed -E 's/^[0-9]+://; s/[~+-].*$//' || true
}

# package:pinned-version (empty: any version) for the Windows release, its Wine smoke tests and the screenshot.
release_packages() {
  echo "wine:$WINE_VERSION wine64:$WINE_VERSION msitools:$MSITOOLS_VERSION wixl:$MSITOOLS_VERSION osslsigncode:$OSSLSIGNCODE_VERSION zip:$ZIP_VERSION unzip:$UNZIP_VERSION chromium:"
}

release_packages_ok() {
  local entry
  for entry in $(release_packages); do
    local package=${entry%%:*} want=${entry#*:}
    local got
    got=$(debian_upstream_version "$package")
    [ -n "$got" ] || return 1
    [ -z "$want" ] || [ "$got" = "$want" ] || return 1
  done
}

install_release_packages() {
  local names=() entry
  for entry in $(release_packages); do names+=("${entry%%:*}"); done
  if release_packages_ok; then
    say "${names[*]} are installed"
    return
  fi
  apt_install "${names[*]}" "${names[@]}" || return 0
  for entry in $(release_packages); do
    local package=${entry%%:*} want=${entry#*:} got
    got=$(debian_upstream_version "$package")
    if [ -z "$got" ] || { [ -n "$want" ] && [ "$got" != "$want" ]; }; then
      problem "$package: Debian installed version ${got:-nothing}, the tests are pinned to $want (scripts/test-tools.versions)"
      return
    fi
  done
  say "installed ${names[*]}"
}

# The release builds its Windows service host with the .NET SDK this kind of machine comes with.
check_dotnet() {
  local got
  got=$(dotnet --version 2>/dev/null | cut -d. -f1 || true)
  if [ "$got" != 10 ]; then
    problem "dotnet: the .NET 10 SDK builds the Windows service host (npm run release); found ${got:-none}"
    return
  fi
  say ".NET SDK $(dotnet --version) is installed"
}

install_debian_packages
install_release_packages
check_dotnet
install_pwsh
