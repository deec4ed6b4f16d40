"""What a run shows its user, read only from the files the stages wrote: report.html
(`page.py` assembles the sections in `overview.py`, `data_section.py`, `train_section.py`,
`eval_section.py`, `package_section.py`, with `html.py` helpers and `plots.py` charts), the lines
a finished run prints (`summary.py`) and `wikikit inspect` (`inspect.py`). It never imports a
stage package."""
