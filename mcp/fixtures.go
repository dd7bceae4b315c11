package mcp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The conformance fixtures are the tools, resources and prompts that the
// MCP conformance suite (npm @modelcontextprotocol/conformance) calls by
// name. They exist only in fixture mode, to prove that airlock's transport
// and server wiring speak the protocol correctly; they never reach a
// governed system and are not registered in normal operation.

const (
	fixturePNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
	fixtureWAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
)

func fixtureOptions() []server.ServerOption {
	return []server.ServerOption{
		server.WithToolCapabilities(true),
		server.WithResourceCapabilities(true, true),
		server.WithPromptCapabilities(true),
		server.WithCompletions(),
		server.WithLogging(),
		server.WithElicitation(),
	}
}

func text(s string) *mcp.CallToolResult { return mcp.NewToolResultText(s) }

func registerFixtures(s *server.MCPServer) {
	s.EnableSampling()
	static := map[string]struct {
		desc    string
		content []mcp.Content
	}{
		"test_simple_text":   {"A fixed text result.", []mcp.Content{mcp.NewTextContent("This is a simple text response for testing.")}},
		"test_image_content": {"A fixed image result.", []mcp.Content{mcp.NewImageContent(fixturePNG, "image/png")}},
		"test_audio_content": {"A fixed audio result.", []mcp.Content{mcp.NewAudioContent(fixtureWAV, "audio/wav")}},
		"test_embedded_resource": {"An embedded text resource.", []mcp.Content{mcp.NewEmbeddedResource(mcp.TextResourceContents{
			URI: "test://embedded-resource", MIMEType: "text/plain", Text: "This is an embedded resource content."})}},
		"test_multiple_content_types": {"Text, image and resource together.", []mcp.Content{
			mcp.NewTextContent("Multiple content types test:"),
			mcp.NewImageContent(fixturePNG, "image/png"),
			mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: "test://mixed-content-resource",
				MIMEType: "application/json", Text: `{"test":"data","value":123}`}),
		}},
	}
	for name, f := range static {
		content := f.content
		s.AddTool(mcp.NewTool(name, mcp.WithDescription(f.desc)),
			func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{Content: content}, nil
			})
	}
	s.AddTool(mcp.NewTool("test_error_handling", mcp.WithDescription("Always a tool error.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultError("This tool intentionally returns an error for testing"), nil
		})
	s.AddTool(mcp.NewTool("test_sampling", mcp.WithDescription("Asks the client's model."),
		mcp.WithString("prompt", mcp.Required())),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			//lint:ignore SA1019 the conformance suite still exercises sampling on 2025 revisions
			res, err := s.RequestSampling(ctx, mcp.CreateMessageRequest{
				Request: mcp.Request{Method: string(mcp.MethodSamplingCreateMessage)},
				CreateMessageParams: mcp.CreateMessageParams{MaxTokens: 100, Messages: []mcp.SamplingMessage{
					{Role: mcp.RoleUser, Content: mcp.NewTextContent(req.GetString("prompt", ""))}}},
			})
			if err != nil {
				return mcp.NewToolResultError(err.Error()), nil
			}
			answer := "No response"
			if tc, ok := res.Content.(mcp.TextContent); ok {
				answer = tc.Text
			}
			return text("LLM response: " + answer), nil
		})
	elicit := func(name, desc, message string, schema map[string]any, prefix string) {
		s.AddTool(mcp.NewTool(name, mcp.WithDescription(desc), mcp.WithString("message")),
			func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				msg := req.GetString("message", message)
				res, err := s.RequestElicitation(ctx, mcp.ElicitationRequest{
					Request: mcp.Request{Method: string(mcp.MethodElicitationCreate)},
					Params:  mcp.ElicitationParams{Message: msg, RequestedSchema: schema},
				})
				if err != nil {
					return mcp.NewToolResultError(err.Error()), nil
				}
				return text(fmt.Sprintf("%s: action=%s, content=%v", prefix, res.Action, res.Content)), nil
			})
	}
	obj := func(props map[string]any, required ...string) map[string]any {
		m := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			m["required"] = required
		}
		return m
	}
	elicit("test_elicitation", "Asks the user for a name and email.", "Please provide your details", obj(map[string]any{
		"username": map[string]any{"type": "string", "description": "User's response"},
		"email":    map[string]any{"type": "string", "description": "User's email address"},
	}, "username", "email"), "User response")
	elicit("test_elicitation_sep1034_defaults", "Elicitation with defaults.", "Provide your information", obj(map[string]any{
		"name":     map[string]any{"type": "string", "default": "John Doe"},
		"age":      map[string]any{"type": "integer", "default": 30},
		"score":    map[string]any{"type": "number", "default": 95.5},
		"status":   map[string]any{"type": "string", "enum": []string{"active", "inactive", "pending"}, "default": "active"},
		"verified": map[string]any{"type": "boolean", "default": true},
	}), "Elicitation completed")
	titled := []any{map[string]any{"const": "value1", "title": "Value One"}, map[string]any{"const": "value2", "title": "Value Two"}}
	elicit("test_elicitation_sep1330_enums", "Elicitation with enums.", "Select options", obj(map[string]any{
		"untitledSingle": map[string]any{"type": "string", "enum": []string{"option1", "option2"}},
		"titledSingle":   map[string]any{"type": "string", "oneOf": titled},
		"legacyEnum":     map[string]any{"type": "string", "enum": []string{"opt1", "opt2"}, "enumNames": []string{"Option One", "Option Two"}},
		"untitledMulti":  map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"option1", "option2"}}},
		"titledMulti":    map[string]any{"type": "array", "items": map[string]any{"anyOf": titled}},
	}), "Elicitation completed")

	s.AddTool(mcp.NewTool("test_tool_with_logging", mcp.WithDescription("Sends log notifications.")),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			for i, m := range []string{"Tool execution started", "Tool processing data", "Tool execution completed"} {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				if err := s.SendNotificationToClient(ctx, string(mcp.MethodNotificationMessage),
					map[string]any{"level": "info", "logger": "airlock-fixtures", "data": m}); err != nil {
					return nil, err
				}
			}
			return text("Tool with logging executed successfully"), nil
		})
	s.AddTool(mcp.NewTool("test_tool_with_progress", mcp.WithDescription("Sends progress notifications.")),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if req.Params.Meta != nil && req.Params.Meta.ProgressToken != nil {
				for i, p := range []int{0, 50, 100} {
					if i > 0 {
						time.Sleep(50 * time.Millisecond)
					}
					if err := s.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress),
						map[string]any{"progressToken": req.Params.Meta.ProgressToken, "progress": p, "total": 100}); err != nil {
						return nil, err
					}
				}
			}
			return text("progress reported"), nil
		})
	registerFixtureResources(s)
	registerFixturePrompts(s)
}

func registerFixtureResources(s *server.MCPServer) {
	s.AddResource(mcp.NewResource("test://static-text", "static-text", mcp.WithResourceTitle("Static Text Resource"),
		mcp.WithResourceDescription("A static text resource"), mcp.WithMIMEType("text/plain")),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: "test://static-text", MIMEType: "text/plain",
				Text: "This is the content of the static text resource."}}, nil
		})
	s.AddResource(mcp.NewResource("test://static-binary", "static-binary", mcp.WithResourceTitle("Static Binary Resource"),
		mcp.WithResourceDescription("A static binary resource"), mcp.WithMIMEType("image/png")),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.BlobResourceContents{URI: "test://static-binary", MIMEType: "image/png", Blob: fixturePNG}}, nil
		})
	s.AddResourceTemplate(mcp.NewResourceTemplate("test://template/{id}/data", "template",
		mcp.WithTemplateDescription("A template with a parameter"), mcp.WithTemplateMIMEType("application/json")),
		func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			id := strings.TrimSuffix(strings.TrimPrefix(req.Params.URI, "test://template/"), "/data")
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json",
				Text: fmt.Sprintf(`{"id":%q,"templateTest":true,"data":%q}`, id, "Data for ID: "+id)}}, nil
		})
}

func registerFixturePrompts(s *server.MCPServer) {
	user := func(c mcp.Content) mcp.PromptMessage { return mcp.PromptMessage{Role: mcp.RoleUser, Content: c} }
	s.AddPrompt(mcp.NewPrompt("test_simple_prompt", mcp.WithPromptTitle("Simple Test Prompt"),
		mcp.WithPromptDescription("A prompt without arguments")),
		func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{user(mcp.NewTextContent("This is a simple prompt for testing."))}}, nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_arguments", mcp.WithPromptTitle("Prompt With Arguments"),
		mcp.WithPromptDescription("A prompt with two required arguments"),
		mcp.WithArgument("arg1", mcp.RequiredArgument()), mcp.WithArgument("arg2", mcp.RequiredArgument())),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			a := req.Params.Arguments
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{user(mcp.NewTextContent(
				fmt.Sprintf("Prompt with arguments: arg1='%s', arg2='%s'", a["arg1"], a["arg2"])))}}, nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_embedded_resource", mcp.WithPromptTitle("Prompt With Embedded Resource"),
		mcp.WithPromptDescription("A prompt embedding a resource"), mcp.WithArgument("resourceUri", mcp.RequiredArgument())),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{
				user(mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: req.Params.Arguments["resourceUri"],
					MIMEType: "text/plain", Text: "Embedded resource content for testing."})),
				user(mcp.NewTextContent("Please process the embedded resource above.")),
			}}, nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_image", mcp.WithPromptTitle("Prompt With Image"),
		mcp.WithPromptDescription("A prompt with an image")),
		func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{
				user(mcp.NewImageContent(fixturePNG, "image/png")),
				user(mcp.NewTextContent("Please analyze the image above.")),
			}}, nil
		})
}
