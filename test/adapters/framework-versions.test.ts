import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import grpcPackage from '@grpc/grpc-js/package.json' with { type: 'json' }
import expressPackage from 'express/package.json' with { type: 'json' }
import fastifyPackage from 'fastify/package.json' with { type: 'json' }
import { describe, expect, it } from 'vitest'

// The framework version matrix (vitest.config.ts) runs the adapter suites twice: against the
// highest versions the adapters' peer ranges allow and against the lowest. This checks that each
// run loads the versions it claims, so the matrix cannot pass by testing one version twice.

const lowest = process.env.CALLSIGN_FRAMEWORKS === 'lowest'
const modules = fileURLToPath(new URL('../../node_modules/', import.meta.url))
const packageOf = (dir: string, name = '') =>
  createRequire(`${modules}${dir}/package.json`)(`${name || `${modules}${dir}`}/package.json`) as {
    version: string
  }

describe(`framework versions: the ${lowest ? 'lowest' : 'highest'} the peer ranges allow`, () => {
  it('loads Express, and Express loads its router, at the versions of this run', () => {
    const express = lowest ? 'express-lowest' : 'express'
    expect(expressPackage.version).toBe(packageOf(express).version)
    const router = packageOf(express, 'router').version
    if (lowest) expect([expressPackage.version, router]).toEqual(['5.1.0', '2.2.0'])
    else expect(router.startsWith('2.')).toBe(true)
  })

  it('loads Fastify and grpc-js at the versions of this run', () => {
    if (lowest) {
      expect(fastifyPackage.version).toBe('5.0.0')
      expect(grpcPackage.version).toBe('1.12.0')
    } else {
      expect(fastifyPackage.version).toBe(packageOf('fastify').version)
      expect(grpcPackage.version).toBe(packageOf('@grpc/grpc-js').version)
    }
  })
})
