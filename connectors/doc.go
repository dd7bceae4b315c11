// Package connectors owns the contract between the gateway and the systems it
// governs: the Connection interface every backend implements, the Action a
// classifier produces from a call's arguments, the Result an execution
// returns, and the registry that maps a connection kind ("postgres", ...) to
// the factory that opens it. Backends register themselves from init, so the
// set of kinds is decided by which packages the binary links.
package connectors
