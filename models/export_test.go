package models

// PostgresPipelineMax lets the external tests cover both ways scans go to
// PostgreSQL: batches up to it are pipelined INSERTs, larger ones COPY.
const PostgresPipelineMax = postgresPipelineMax
