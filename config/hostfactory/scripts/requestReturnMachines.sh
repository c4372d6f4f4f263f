#!/usr/bin/env bash
# Host Factory's requestReturnMachines: returns machines.
# Usage: requestReturnMachines.sh -f <input.json>
exec "$(dirname "${BASH_SOURCE[0]}")/invoke_orb.sh" requestReturnMachines "$@"
