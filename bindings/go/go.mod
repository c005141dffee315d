module github.com/evident-audit/evident/bindings/go

go 1.23
