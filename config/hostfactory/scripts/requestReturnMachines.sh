#!/bin/sh
# Host Factory's requestReturnMachines: returns machines.
# Usage: requestReturnMachines.sh -f <input.json>
orb_call=requestReturnMachines
case "$0" in */*) . "${0%/*}/invoke_orb.sh" ;; *) . ./invoke_orb.sh ;; esac
