"""The comparison point for bench/ingest.py: a bare Flask JSON endpoint on the same stack
(gunicorn, Flask, SQLAlchemy, PostgreSQL) that parses the body and stores it in one row."""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, create_engine, insert

metadata = MetaData()
rows = Table("baseline_rows", metadata, Column("id", Integer, primary_key=True),
             Column("body", LargeBinary))
# bench/ingest.py creates the table before the workers start. SQLAlchemy's defaults: no
# ping before each use, as the application's filing engine (integrity.db) does not ping.
engine = create_engine(os.environ["BENCH_DATABASE_URL"])
app = Flask(__name__)


@app.post("/api/v1/reports")
def store() -> tuple[object, int]:
    body = request.get_json()
    with engine.begin() as connection:
        connection.execute(insert(rows).values(body=body["payload"].encode()))
    return jsonify(status="received"), 201
