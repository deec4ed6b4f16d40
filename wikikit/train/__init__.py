"""The train stage: the recipe -> axolotl.yaml (`axolotl_config.py`) -> `axolotl preprocess,
train, merge-lora` as subprocesses (`axolotl_run.py`), resumable checkpoints (`checkpoints.py`),
orchestrated by `stage.py`; which tokens are trained (`harmony_turns.py`, the prompt strategy
Axolotl loads) and the check of it (`labels.py`, `--check-labels`); what a run needs
(`estimate.py`, `--dry-run`); the tiny gpt-oss stand-in (`tinymodel.py`) and the harmony chat
template (`chat_template/harmony.jinja`)."""
