#!/usr/bin/env bash
# Host Factory's requestMachines: asks for machines from a template.
# Usage: requestMachines.sh -f <input.json>
exec "$(dirname "${BASH_SOURCE[0]}")/invoke_orb.sh" requestMachines "$@"
