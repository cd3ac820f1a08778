"""The design document's File reactivity example.

    redun run process_data.py main

Edit input.csv, delete output.txt or change it, and run again: redun re-runs
process_data, and only process_data.
"""

import csv

from redun import File, task

redun_namespace = "examples.files"


@task()
def process_data(input_file: File) -> File:
    with input_file.open() as infile:
        rows = list(csv.reader(infile))

    total = sum(int(row[1]) for row in rows[1:])

    output_file = File("output.txt")
    with output_file.open("w") as out:
        out.write(f"{len(rows) - 1} rows, total {total}\n")
    return output_file


@task()
def main() -> File:
    input_file = File("input.csv")
    output_file = process_data(input_file)
    return output_file
