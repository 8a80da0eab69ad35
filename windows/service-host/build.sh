#!/usr/bin/env bash
# Publishes the Windows service host, hyperv-ic-exporter-service.exe, and copies it (only it) to OUTDIR.
#
#   bash windows/service-host/build.sh OUTDIR [VERSION]
#
# Needs the .NET SDK (global.json: 10.0.401 or a later 10.0 SDK) and NuGet; nothing else. The
# packages come from nuget.org only (nuget.config), at the versions and hashes of packages.lock.json
# (locked mode: a changed dependency fails the build instead of drifting). MSBuild writes only under
# <repo>/.cache/service-host. Quick when nothing changed: the publish is skipped while a stamp of the
# sources, the version and the SDK matches.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 OUTDIR [VERSION]" >&2
  exit 2
fi
out=$1
version=${2:-0.0.0}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache="$repo/.cache/service-host"
publish="$cache/publish"
exe=hyperv-ic-exporter-service.exe

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0

if ! command -v dotnet >/dev/null 2>&1; then
  echo "$0: the .NET SDK (dotnet) is not installed; it needs SDK 10.0.401 or a later 10.0 SDK" >&2
  exit 1
fi
sdk=$(cd "$here" && dotnet --version 2>/dev/null) || {
  echo "$0: no .NET SDK matching $here/global.json (10.0.401 or a later 10.0 SDK); installed: $(dotnet --list-sdks | tr '\n' ' ')" >&2
  exit 1
}

stamp=$( (cd "$here" && sha256sum ./*.cs ./*.csproj ./*.json ./nuget.config ./Directory.Build.props ./build.sh; echo "version=$version sdk=$sdk") | sha256sum | cut -d' ' -f1)
if [ -f "$publish/$exe" ] && [ "$(cat "$cache/publish.stamp" 2>/dev/null)" = "$stamp" ]; then
  : # up to date
else
  rm -f "$cache/publish.stamp"
  rm -rf "$publish"
  # RestoreLockedMode: packages.lock.json must match; if a new SDK moved an implicit package (the
  # ILLink tasks), refresh it with: (cd windows/service-host && dotnet restore --force-evaluate)
  if ! dotnet publish "$here/hyperv-ic-exporter-service.csproj" -c Release -o "$publish" \
    -p:RestoreLockedMode=true -p:Version="$version" --disable-build-servers -nodeReuse:false -v:quiet -clp:ErrorsOnly >&2; then
    echo "$0: dotnet publish failed (SDK $sdk). If it says the lock file is out of date (NU1004), refresh it: (cd windows/service-host && dotnet restore --force-evaluate)" >&2
    exit 1
  fi
  echo "$stamp" > "$cache/publish.stamp"
fi

mkdir -p "$out"
if ! cmp -s "$publish/$exe" "$out/$exe"; then
  cp "$publish/$exe" "$out/$exe.tmp"
  mv -f "$out/$exe.tmp" "$out/$exe"
fi
echo "$out/$exe"
