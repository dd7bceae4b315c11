package gateway

// Pipeline is the order every call goes through. It is written here and
// nowhere else; each line is one stage, outermost first.
func (g *Gateway) Pipeline() Chain {
	return Chain{
		g.authenticate(), // bind the caller's principal; no identity, no call
		g.record(),       // every call is recorded, refused or not; the intent durably before execution
		g.bind(),         // revoked subjects stop here, on every replica, at the next call
		g.resolve(),      // tool and connection exist and the caller may use them; arguments are well-formed
		g.classify(),     // what the call would do, from the connector's parser
		g.authorize(),    // the policy decision: allow, deny, or require approval
		g.approve(),      // calls that need approval wait for it or are refused
		g.maskStage(),    // on the way out: mask the response per decision, the record always, errors too
		g.limit(),        // obligations: row cap and timeout for execution
	}
}
