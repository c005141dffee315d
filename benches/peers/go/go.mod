module github.com/evident-audit/evident/benches/peers/go

go 1.23

require github.com/evident-audit/evident/bindings/go v0.0.0

replace github.com/evident-audit/evident/bindings/go => ../../../bindings/go
