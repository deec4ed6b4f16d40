"""The train stage: the recipe -> axolotl.yaml (`axolotl_config.py`) -> `axolotl preprocess,
train, merge-lora` as subprocesses (`axolotl_run.py`), resumable checkpoints (`checkpoints.py`),
orchestrated by `stage.py`; the tiny gpt-oss stand-in (`tinymodel.py`) and the harmony chat
template (`chat_template/harmony.jinja`)."""
