"""Prints the OpenAPI document the Python ORB 1.8.5's REST server makes (PyPI orb-py[api],
installed by `scripts/orb-py install`): what ORB's clients expect of a server. It runs in a
temporary directory, so that nothing ORB writes lands anywhere else.

Usage: target/orb-py-venv/bin/python scripts/orb-py-openapi.py"""
import json
import os
import sys
import tempfile

with tempfile.TemporaryDirectory() as home:
    os.environ.update({"HOME": home, "ORB_ROOT_DIR": home})
    os.chdir(home)
    from orb.api.server import create_fastapi_app
    from orb.config.schemas.server_schema import ServerConfig

    document = create_fastapi_app(ServerConfig()).openapi()
json.dump(document, sys.stdout)
