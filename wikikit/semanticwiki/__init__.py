"""SemanticWiki, the program the model serves (GhostScientist/semanticwiki 1.2.1, commit 438524a).

- install.py, client.py: the pinned client, installed once, run as a subprocess;
- protocol.py: its local mode as the model sees it (plan, page, index calls and their prompts);
- endpoint.py: wikikit as its model, an Ollama-speaking server on 127.0.0.1, every call recorded;
- answerers.py, convert.py: who answers (a teacher, a replayed reference wiki, a served model);
- session.py: recording passes of the client over repositories;
- tools.py: its agent tools and their executor (agent mode);
- runtimes.py: the runtimes that feed it the model (node-llama-cpp, Ollama) and how each renders a prompt.
"""
