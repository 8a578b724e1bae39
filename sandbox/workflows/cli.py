"""`sandbox workflow validate PATH`: check workflow files (a file or a folder) as the app will read them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .loading import WorkflowError, load_workflow, workflow_files

workflow = click.Group("workflow", help="Case workflows (workflows/*.yaml): validate.")


@workflow.command("validate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def validate(path: Path) -> None:
    """Check a workflow file or every file of a folder: problems on stderr (file: path: expectation), exit 1."""
    files = workflow_files(path) if path.is_dir() else [path]
    if not files:
        click.echo(f"{path}: no workflow files (*.yaml) here", err=True)
        sys.exit(1)
    failed = False
    for file in files:
        try:
            wf = load_workflow(file)
        except WorkflowError as exc:
            click.echo("\n".join(exc.lines()), err=True)
            failed = True
            continue
        click.echo(f"{file.name}: OK: {wf.name.zh} / {wf.name.en}; {len(wf.states)} states, "
                   f"{sum(len(t.from_) for t in wf.transitions)} moves")
    if failed:
        sys.exit(1)
