#!/bin/sh
# Host Factory's getRequestStatus: the status of acquire and return requests.
# Usage: getRequestStatus.sh -f <input.json>
orb_call=getRequestStatus
case "$0" in */*) . "${0%/*}/invoke_orb.sh" ;; *) . ./invoke_orb.sh ;; esac
