#!/usr/bin/env bash
# Host Factory's getReturnRequests: the machines the cloud is reclaiming.
# Usage: getReturnRequests.sh -f <input.json>
exec "$(dirname "${BASH_SOURCE[0]}")/invoke_orb.sh" getReturnRequests "$@"
