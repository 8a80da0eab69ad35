#!/usr/bin/env bash
# Builds the MSI from a staged release folder: bash windows/msi/build.sh STAGE_DIR VERSION OUT_MSI
# (wixl and msibuild from msitools, and node; see build.js beside this file).
set -euo pipefail
exec node "$(dirname "${BASH_SOURCE[0]}")/build.js" "$@"
