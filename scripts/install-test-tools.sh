#!/usr/bin/env bash
# Installs the real programs the integration tests run: Prometheus, promtool and Alertmanager (Debian
# packages) and PowerShell 7 as a .NET tool in .tools/pwsh. Idempotent; safe to run on every CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null || ! command -v docker-compose >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install-test-tools: installing prometheus, prometheus-alertmanager and docker-compose (Debian packages)"
    apt-get update -qq
    # docker-compose only validates docker-compose.yml in the tests (no engine runs here).
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager docker-compose >/dev/null
    # The packages start services on Debian; the tests start their own instances on free ports.
    (systemctl stop prometheus prometheus-alertmanager 2>/dev/null || service prometheus stop 2>/dev/null || true) >/dev/null 2>&1
  else
    echo "install-test-tools: prometheus/promtool/alertmanager missing; run as root: apt-get install -y --no-install-recommends prometheus prometheus-alertmanager docker-compose" >&2
  fi
fi

if [ ! -x .tools/pwsh/pwsh ] && ! command -v pwsh >/dev/null; then
  if command -v dotnet >/dev/null; then
    echo "install-test-tools: installing PowerShell as a .NET tool into .tools/pwsh"
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
    dotnet tool install --tool-path .tools/pwsh PowerShell >/dev/null || \
      echo "install-test-tools: could not install PowerShell; the PowerShell tests will report themselves skipped" >&2
  else
    echo "install-test-tools: no dotnet SDK; the PowerShell tests will report themselves skipped" >&2
  fi
fi
