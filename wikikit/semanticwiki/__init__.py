"""SemanticWiki, the program the model serves (GhostScientist/semanticwiki 1.2.1): its agent
tools and their real executor (`tools.py`)."""
