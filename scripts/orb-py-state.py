"""Makes state with the Python ORB 1.8.5 (PyPI orb-py, installed by `scripts/orb-py install`)
against a moto server, as an operator cutting over to orb would have it: two acquire requests
(RunInstances, an instant EC2 fleet), their machines, and a return of one fleet machine, in
ORB's JSON store, one file or split files, or its SQLite store. Prints what it made as JSON.

Usage: python orb-py-state.py <moto endpoint> <root dir> <json|split|sqlite> <seed JSON>, the seed
as scripts/moto-seed.py printed it."""
import json
import pathlib
import sqlite3
import sys

from orb_py_site_lib import environment, init, runner

endpoint, root, storage = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
seed = json.loads(sys.argv[4])
run = runner(root, environment(endpoint, root))
config_file = init(run, root, seed)
config = json.loads(config_file.read_text())
config["storage"] = {
    "json": {"strategy": "json"},
    "split": {"strategy": "json", "json_strategy": {"storage_type": "split_files"}},
    "sqlite": {"strategy": "sql", "sql_strategy": {"type": "sqlite"}},
}[storage]
config_file.write_text(json.dumps(config, indent=2))
run("templates", "generate")


def sql_state():
    """ORB's SQLite store (`database.db` in its working directory, whatever its configuration
    names): its requests, oldest first, and each one's machines."""
    db = sqlite3.connect(root / "database.db")
    requests = [r for (r,) in db.execute(
        "SELECT request_id FROM requests WHERE request_type = 'acquire' ORDER BY created_at")]
    machines = {r: [m for (m,) in db.execute(
        "SELECT machine_id FROM machines WHERE request_id = ? ORDER BY machine_id", (r,))]
        for r in requests}
    return requests, machines


acquires = []
for template, count in [("RunInstances-OnDemand", 1), ("EC2Fleet-Instant-OnDemand", 2)]:
    made = run("machines", "request",
               input={"template": {"templateId": template, "machineCount": count}})
    if storage != "sqlite":
        acquires.append(made["requestId"])
if storage == "sqlite":
    # ORB 1.8.5's SQL store saves a request once and then fails every update of it ("no such
    # column: id"): its CLI answers "Storage", the request stays pending with its machines
    # saved. That is the state an operator of its SQL store has; ORB cannot return from it.
    acquires, machines = sql_state()
    print(json.dumps({"state": str(root / "database.db"), "acquires": acquires,
                      "machines": machines}))
    sys.exit(0)
status = run("requests", "status", input={"requests": [{"requestId": r} for r in acquires]})
machines = {r["requestId"]: [m["machineId"] for m in r["machines"]] for r in status["requests"]}
returned = machines[acquires[1]][0]
back = run("machines", "return", input={"machines": [{"name": returned, "machineId": returned}]})
data = root / "work/data"
print(json.dumps({
    "state": str(data if storage == "split" else data / "request_database.json"),
    "provider_name": config["provider"]["providers"][0]["name"],
    "acquires": acquires, "machines": machines, "return": back["requestId"], "returned": returned,
}))
