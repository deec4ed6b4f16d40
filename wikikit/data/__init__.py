"""The data stage (`stage.py` orchestrates): sources -> filters -> dedup -> mix -> split ->
decontaminate -> render -> data/{train,validation,test}.jsonl, dataset card and quality.json.

`sources/` holds one module per source kind (each yields Examples), `filters/` the quality
checks (each keeps an example or gives a reason); mix, split, dedup, decontaminate, render and
the token limits (`token_scan.py`) are one module each.
"""
