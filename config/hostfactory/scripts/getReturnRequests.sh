#!/bin/sh
# Host Factory's getReturnRequests: the machines the cloud is reclaiming.
# Usage: getReturnRequests.sh -f <input.json>
orb_call=getReturnRequests
case "$0" in */*) . "${0%/*}/invoke_orb.sh" ;; *) . ./invoke_orb.sh ;; esac
