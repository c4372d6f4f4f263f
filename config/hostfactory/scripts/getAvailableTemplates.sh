#!/usr/bin/env bash
# Host Factory's getAvailableTemplates: the templates Host Factory may request (input optional).
# Usage: getAvailableTemplates.sh -f <input.json>
exec "$(dirname "${BASH_SOURCE[0]}")/invoke_orb.sh" getAvailableTemplates "$@"
