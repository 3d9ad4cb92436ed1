module secretrace/tests/agents/go

go 1.17
