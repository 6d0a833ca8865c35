package models

// evidenceToVerify indexes the uploads still waiting for a verdict, by case: the home page's
// "Evidence to verify" queue lists and counts from it alone, however much evidence is decided.
func evidenceToVerify(d Dialect, _ string) []string {
	return []string{d.ddl(`CREATE INDEX evidence_unverified ON evidence (case_id, uploaded_by_id) WHERE verification = 'unverified'`)}
}
