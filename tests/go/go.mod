module wikikit/tests/go

go 1.19
