# Two commands set everything up on a fresh machine with only Python 3.11+:
#   make demo   install veil into .venv and anonymize the bundled example on DuckDB
#   make test   install veil with its test tools into .venv and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EX     := examples/customers

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml setup.py src/veil/_hmac_sha256.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# pycanon (independent k-anonymity/l-diversity/t-closeness checker used by the tests) pins
	# old numpy/pandas releases; its checking code needs only numpy and pandas, so no deps.
	$(BIN)/python -m pip install -q --no-deps pycanon==1.3.5
	touch $@

$(EX)/data/customers.csv: $(BIN)/.installed $(EX)/generate.py
	$(BIN)/python $(EX)/generate.py --rows 100000 --format csv --out $@

$(EX)/.veil/demo.key: $(BIN)/.installed
	$(BIN)/veil keygen --out $@

demo: $(BIN)/.installed $(EX)/data/customers.csv $(EX)/.veil/demo.key
	$(BIN)/veil explain $(EX)/policy.yaml
	$(BIN)/veil run $(EX)/policy.yaml
	$(BIN)/veil audit verify --policy $(EX)/policy.yaml
	$(BIN)/python -c "import duckdb; duckdb.sql(\"SELECT * FROM '$(EX)/out/customers.parquet' LIMIT 5\").show(max_width=200)"

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

test: $(BIN)/.installed lint
	$(BIN)/pytest -q

bench: $(BIN)/.installed
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/vs_pandas.py

clean:
	rm -rf $(VENV) $(EX)/data $(EX)/out $(EX)/.veil bench/data bench/out
