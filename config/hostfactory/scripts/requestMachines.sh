#!/bin/sh
# Host Factory's requestMachines: asks for machines from a template.
# Usage: requestMachines.sh -f <input.json>
orb_call=requestMachines
case "$0" in */*) . "${0%/*}/invoke_orb.sh" ;; *) . ./invoke_orb.sh ;; esac
