package fax

// ListCondition is one condition of a fax list query, written up to the
// placeholder of its argument (e.g. "status = "), which each store adds in
// its own style.
type ListCondition struct {
	Cond string
	Arg  any
}

// Conditions are fl's filters as conditions on the faxes table, one line a
// filter, for both stores' list queries: a filter applies when its value is
// set, and each has an index that serves it (TestListPlans in each store).
// Times are milliseconds since the epoch, as the stores keep them.
func (fl *FaxFilter) Conditions() []ListCondition {
	var out []ListCondition
	add := func(on bool, cond string, arg any) {
		if on {
			out = append(out, ListCondition{cond, arg})
		}
	}
	dir := fl.ListDirection()
	add(dir != "", "direction = ", string(dir))
	add(fl.Status != "", "status = ", string(fl.Status))
	// Only received faxes have a document status; saying so lets the
	// partial index faxes_document_status serve the filter.
	add(fl.DocumentStatus != "", "direction = 'inbound' AND document_status = ", string(fl.DocumentStatus))
	add(fl.OwnerKeyID != "", "owner_key_id = ", fl.OwnerKeyID)
	add(fl.To != "", "to_number = ", string(fl.To))
	add(fl.From != "", "from_number = ", string(fl.From))
	add(fl.Provider != "", "provider = ", fl.Provider)
	add(fl.BatchID != "", "batch_id = ", fl.BatchID)
	add(!fl.CreatedAfter.IsZero(), "created_at >= ", fl.CreatedAfter.UnixMilli())
	add(!fl.CreatedBefore.IsZero(), "created_at < ", fl.CreatedBefore.UnixMilli())
	add(fl.Cursor != "", "id < ", fl.Cursor)
	return out
}
