"""Fills an orb SQLite store with copies of its newest finished acquire request and one of its
machines: REQUESTS requests in all, each with MACHINES machines (terminated), written straight
into the tables in one transaction. Prints the ids of the requests it wrote, one per line, when
asked with --ids.
Usage: python3 fill-store.py DB REQUESTS [MACHINES] [--ids]"""
import sqlite3
import sys

args = [a for a in sys.argv[1:] if a != "--ids"]
db_path, total = args[0], int(args[1])
per_request = int(args[2]) if len(args) > 2 else 1
db = sqlite3.connect(db_path)
cols = [r[1] for r in db.execute("PRAGMA table_info(requests)")]
mcols = [r[1] for r in db.execute("PRAGMA table_info(machines)")]
row = db.execute("SELECT * FROM requests WHERE kind = 'acquire' ORDER BY created_at DESC LIMIT 1").fetchone()
if row is None:
    sys.exit("the store holds no acquire request to copy")
row = dict(zip(cols, row))
mrow = dict(zip(mcols, db.execute("SELECT * FROM machines WHERE request_id = ?", (row["request_id"],)).fetchone()))
ids = []


def requests():
    for i in range(total - 1):
        rid = f"req-filler-{i:08d}"
        ids.append(rid)
        yield [dict(row, request_id=rid, created_at=row["created_at"] - i - 1)[c] for c in cols]


def machines():
    for i in range(total - 1):
        for j in range(per_request):
            yield [dict(mrow, machine_id=f"m-filler-{i:08d}-{j:03d}", request_id=f"req-filler-{i:08d}",
                        state="terminated", name=f"filler-{i}-{j}")[c] for c in mcols]


with db:
    db.execute("PRAGMA synchronous = OFF")
    db.executemany(f"INSERT INTO requests ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", requests())
    db.executemany(f"INSERT INTO machines ({','.join(mcols)}) VALUES ({','.join('?' * len(mcols))})", machines())
db.close()
if "--ids" in sys.argv:
    print("\n".join(ids))
