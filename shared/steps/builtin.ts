/** The built-in step types of CONTRACT.md §1. */
import { aiGenerate } from './ai-generate.js';
import { apiCall } from './api-call.js';
import { approval } from './approval.js';
import { conditional } from './conditional.js';
import { fail } from './fail.js';
import { form } from './form.js';
import { transform } from './transform.js';
import type { StepType } from './types.js';
import { wait } from './wait.js';
import { workflow } from './workflow.js';

export const builtinStepTypes: readonly StepType[] = [
  form,
  approval,
  aiGenerate,
  conditional,
  apiCall,
  transform,
  wait,
  workflow,
  fail,
] as unknown as readonly StepType[];
