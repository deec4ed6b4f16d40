"""The package stage (`stage.py`): merged model -> GGUF with llama.cpp's converter
(`gguf_convert.py`) -> checks (`gguf_verify.py`) -> Modelfile (`modelfile.py`) -> `ollama create`
(`ollama_publish.py`)."""
