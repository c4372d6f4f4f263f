#!/bin/sh
# Host Factory's getAvailableTemplates: the templates Host Factory may request (input optional).
# Usage: getAvailableTemplates.sh -f <input.json>
orb_call=getAvailableTemplates
case "$0" in */*) . "${0%/*}/invoke_orb.sh" ;; *) . ./invoke_orb.sh ;; esac
