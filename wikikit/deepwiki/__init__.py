"""DeepWiki pages: crawling (spider), parsing (page), and cutting into examples (chunking)."""
