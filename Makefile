.PHONY: run test lint bench translations

run:  ## install, create the SQLite database with a demo classroom, serve it
	bash scripts/run.sh

test:  ## the whole suite: SQLite and PostgreSQL, browser tests included
	bash scripts/test.sh

lint:
	.venv/bin/ruff check sandbox seed bench tests

bench:
	.venv/bin/sandbox bench

translations:  ## re-extract strings and update the catalogs (then translate the new ones)
	.venv/bin/pybabel extract -F babel.cfg -k N_ -k _l -o sandbox/translations/messages.pot .
	.venv/bin/pybabel update -i sandbox/translations/messages.pot -d sandbox/translations
