#!/usr/bin/env bash
# Host Factory's getRequestStatus: the status of acquire and return requests.
# Usage: getRequestStatus.sh -f <input.json>
exec "$(dirname "${BASH_SOURCE[0]}")/invoke_orb.sh" getRequestStatus "$@"
