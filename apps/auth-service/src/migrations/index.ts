import { SigningKeys1767312000000 } from './1767312000000-signing-keys.js';
import { SigningKeySettings1768200000000 } from './1768200000000-signing-key-settings.js';

// Every migration, in order. Listed as imported classes (no globs: jest-ESM needs it).
export const migrations: Function[] = [SigningKeys1767312000000, SigningKeySettings1768200000000];
