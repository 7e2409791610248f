/** Colours and names of the session's vocabularies, one table each. */
import type { ActionKind, AgentWorkflow, ProcessLabel, Severity } from "../../src/core/events.js";

export const LABEL_COLOURS = {
  Agent: "#b388ff",
  Tool: "#4fc3f7",
  SystemTool: "#80cbc4",
  Unknown: "#78909c",
} as const satisfies Record<ProcessLabel, string>;

export const WORKFLOW_COLOURS = {
  FileAnalysis: "#64b5f6",
  NetworkCommunication: "#81c784",
  CodeGeneration: "#ffb74d",
  RepositoryOperation: "#f06292",
  SystemExploration: "#a1887f",
  SecurityOperation: "#e57373",
} as const satisfies Record<AgentWorkflow, string>;

export const WORKFLOW_SHORT = {
  FileAnalysis: "files",
  NetworkCommunication: "network",
  CodeGeneration: "code",
  RepositoryOperation: "repo",
  SystemExploration: "explore",
  SecurityOperation: "security",
} as const satisfies Record<AgentWorkflow, string>;

export const KIND_COLOURS = {
  FileRead: "#4fc3f7",
  FileWrite: "#ffb74d",
  FileDelete: "#ef5350",
  FileRename: "#ffa726",
  FileMetadata: "#546e7a",
  DirList: "#78909c",
  PermChange: "#ff8a65",
  ProcessSpawn: "#ce93d8",
  ProcessExit: "#9575cd",
  NetConnect: "#66bb6a",
  NetListen: "#9ccc65",
  NetSend: "#81c784",
  NetRecv: "#a5d6a7",
  Signal: "#fff176",
  Other: "#607d8b",
} as const satisfies Record<ActionKind, string>;

export const SEVERITY_COLOURS = {
  HIGH: "#ef5350",
  MEDIUM: "#ffa726",
  LOW: "#fdd835",
} as const satisfies Record<Severity, string>;

export const SEVERITY_ORDER: Record<Severity, number> = { HIGH: 0, MEDIUM: 1, LOW: 2 };
