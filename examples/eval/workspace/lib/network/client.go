// Package network is the HTTP client other services use to talk to the gateway.
package network

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Client calls the gateway API with a bearer token.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Invoice is the subset of invoice fields the client needs.
type Invoice struct {
	ID       string  `json:"id"`
	Customer string  `json:"customer"`
	Total    float64 `json:"total"`
	Currency string  `json:"currency"`
}

// NewClient returns a client with a 10 s timeout.
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: baseURL, Token: token, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Do sends a request with the token set. TODO: retry with backoff on 429.
func (c *Client) Do(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	return c.HTTP.Do(req)
}

// FetchInvoice fetches one invoice by id.
func (c *Client) FetchInvoice(ctx context.Context, id string) (*Invoice, error) {
	resp, err := c.Do(ctx, http.MethodGet, "/api/v2/invoices/"+id)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch invoice %s: status %d", id, resp.StatusCode)
	}
	var inv Invoice
	if err := json.NewDecoder(resp.Body).Decode(&inv); err != nil {
		return nil, err
	}
	return &inv, nil
}
